"""Support shared by the embedded (one machine, no Java) backends."""
