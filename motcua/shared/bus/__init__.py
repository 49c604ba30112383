"""Bus plumbing: broker factory, transactional outbox and relay, inbox, consumer."""
