"""The model registry: registered models, numbered versions, movable aliases, promotion gates
as code, an audit trail of every change, and webhooks."""

from shipyard.registry._gates import RuleResult, evaluate_rule, parse_rule
from shipyard.registry._remote import RemoteRegistryService, registry_service
from shipyard.registry._service import PromotionResult, RegistryService
from shipyard.registry._webhooks import WebhookDispatcher, sign, verify_signature

__all__ = [
    "PromotionResult",
    "RegistryService",
    "RemoteRegistryService",
    "RuleResult",
    "WebhookDispatcher",
    "evaluate_rule",
    "parse_rule",
    "registry_service",
    "sign",
    "verify_signature",
]
