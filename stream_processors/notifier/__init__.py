"""The notifier: topic-based FHIR Subscriptions (R4 Subscriptions Backport IG), read side.

`topics.py` defines the SubscriptionTopics and which events trigger them, `fold.py` the pure
folds (a subscription's numbered notifications, the registry of live subscriptions, the
context matching needs) and `processor.py` the projection the runner drives. Delivery
(rest-hook, websocket) is in `services/subscriptions/`; this package does no I/O."""
