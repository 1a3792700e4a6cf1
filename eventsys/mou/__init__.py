"""MOU signing records: agreements signed at events, their parties, signatories, documents and history."""
