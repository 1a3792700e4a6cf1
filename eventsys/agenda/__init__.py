"""The agenda: rooms, sessions with speakers, the builder, published versions, public and personal feeds."""
