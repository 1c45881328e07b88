"""SQLAlchemy 2 typed models; values are rows keyed by catalogue code, never columns."""

from kpi_app.models.assessment import Assessment, Status, VerifierAssignment
from kpi_app.models.audit import AuditEvent
from kpi_app.models.base import Base
from kpi_app.models.benchmarks import BenchmarkSetRecord
from kpi_app.models.city import City, CityYearFacts, Country
from kpi_app.models.due_dates import AssessmentDueDates, DueReminder
from kpi_app.models.evidence import Evidence
from kpi_app.models.local_kpis import LocalKpi, LocalKpiPolicy, LocalKpiSnapshot, LocalKpiValue
from kpi_app.models.notifications import Notification, NotificationPreference
from kpi_app.models.published import PublishedScore, PublishedValue
from kpi_app.models.review_threads import QueryMessage, QueryStatus, ValueQuery
from kpi_app.models.scenarios import Scenario
from kpi_app.models.sensors import SensorImport, SensorObservation
from kpi_app.models.snapshots import Snapshot
from kpi_app.models.user import ApiToken, LoginThrottle, RecoveryCode, Role, User
from kpi_app.models.values import DataQuality, IndicatorValue

__all__ = [
    "ApiToken",
    "Assessment",
    "AssessmentDueDates",
    "AuditEvent",
    "Base",
    "BenchmarkSetRecord",
    "City",
    "CityYearFacts",
    "Country",
    "DataQuality",
    "DueReminder",
    "Evidence",
    "IndicatorValue",
    "LocalKpi",
    "LocalKpiPolicy",
    "LocalKpiSnapshot",
    "LocalKpiValue",
    "LoginThrottle",
    "Notification",
    "NotificationPreference",
    "PublishedScore",
    "PublishedValue",
    "QueryMessage",
    "QueryStatus",
    "RecoveryCode",
    "Role",
    "Scenario",
    "SensorImport",
    "SensorObservation",
    "Snapshot",
    "Status",
    "User",
    "ValueQuery",
    "VerifierAssignment",
]
