"""HTTP routes of the intake service."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
