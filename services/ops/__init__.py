"""Operations endpoints: health, readiness and Prometheus metrics."""
