"""The registry's explicit SQL: centers and procedures (current document and revision)
and their audit.

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
from motcua.services.registry.repository.procedures import ProcedureAuditEntry, StoredProcedure
from motcua.services.registry.repository.versioned import PROCEDURES

__all__ = [
    "PROCEDURES",
    "AuditEntry",
    "ProcedureAuditEntry",
    "StoredCenter",
    "StoredProcedure",
    "audit_page",
    "insert_audit",
    "list_centers",
    "lock_center",
    "save_center",
]
