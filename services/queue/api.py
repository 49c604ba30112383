"""HTTP routes of the queue service."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
