"""Screening JSON API: the capture endpoint for field devices, results by API."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["screening"])
