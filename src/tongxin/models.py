"""Import every area's tables so Base.metadata is complete (for Alembic and tests)."""

from tongxin.accounts import models as accounts_models
from tongxin.audit import models as audit_models
from tongxin.db import Base
from tongxin.hotline import models as hotline_models
from tongxin.logistics import models as logistics_models
from tongxin.registry import models as registry_models
from tongxin.screening import models as screening_models
from tongxin.supplies import models as supplies_models

metadata = Base.metadata

__all__ = [
    "accounts_models",
    "audit_models",
    "hotline_models",
    "logistics_models",
    "metadata",
    "registry_models",
    "screening_models",
    "supplies_models",
]
