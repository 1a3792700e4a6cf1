"""Registration in person or online: capacity, waiting list, moderation, self-service."""
