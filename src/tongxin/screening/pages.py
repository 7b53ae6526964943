"""Screening pages: round overview, site view, tube and box search, queues, recall board."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
