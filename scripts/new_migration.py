"""Autogenerate a migration: python scripts/new_migration.py "message" 0002 (developer tool)."""

import sys
from alembic import command
from sqlalchemy import create_engine
from tongxin.migrate import alembic_config
import tongxin.models  # noqa

engine = create_engine("sqlite:////tmp/gen_mig.db")
cfg = alembic_config(engine)
with engine.begin() as conn:
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")
    command.revision(cfg, message=sys.argv[1], autogenerate=True, rev_id=sys.argv[2])
