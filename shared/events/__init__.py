"""CloudEvents envelope, versioned event models and the topics they travel on."""
