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
from motcua.services.registry.repository.procedures import (
    ProcedureAuditEntry,
    StoredProcedure,
    insert_procedure_audit,
    list_procedures,
    lock_procedure,
    procedure_audit_page,
    save_procedure,
)

__all__ = [
    "AuditEntry",
    "ProcedureAuditEntry",
    "StoredCenter",
    "StoredProcedure",
    "audit_page",
    "insert_audit",
    "insert_procedure_audit",
    "list_centers",
    "list_procedures",
    "lock_center",
    "lock_procedure",
    "procedure_audit_page",
    "save_center",
    "save_procedure",
]
