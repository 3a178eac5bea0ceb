"""The deletion worker's stages, one module per operation (delete, correct) and the answer both end in; each
stage commits with its events, through the outbox."""
