"""The registry's explicit SQL: centers (current document and revision) and the audit.

Every function runs on the caller's connection, inside the caller's transaction.
"""

from motcua.services.registry.repository.centers import (
    AuditEntry,
    StoredCenter,
    audit_page,
    insert_audit,
    list_centers,
    lock_center,
    save_center,
)

__all__ = [
    "AuditEntry",
    "StoredCenter",
    "audit_page",
    "insert_audit",
    "list_centers",
    "lock_center",
    "save_center",
]
