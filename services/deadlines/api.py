"""HTTP routes of the deadlines service."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
