"""What the four services share: settings, event envelope and models, Kafka and Mongo helpers."""
