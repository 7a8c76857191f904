"""The registry: every entity the panel shows, in menu order."""
from .community import BulletinPost, CommunityEvent
from .complaints import CallLog, Complaint
from .custody import Custody, CustodyPatrol
from .documents import Document
from .dunning import Dunning
from .leasing import LeasableAsset, Lease
from .notifications import Notification
from .renovation import RenovationCheck, RenovationPermit, WorkerPass
from .supervision import DeptCheck, Patrol
from .ledger import Charge, NumberSequence, Payment, PaymentAllocation
from .occupancy import Inspection, InspectionItem, MoveIn
from .org import AppUser, AuditLog, Department
from .people import Owner, Ownership, Resident
from .property import Building, Estate, Unit
from .release import ReleaseItem, ReleaseSlip
from .saved_views import SavedView
from .security import LoginAttempt  # noqa: F401  (not an admin entity: throttling only)
from .spec import add_spec_indexes
from .services import ServiceItem, ServiceOrder
from .visits import FollowupVisit, Survey
from .visitors import Visitor
from .work_orders import WorkOrder

REGISTRY = (
    Estate, Building, Unit,
    Owner, Ownership, Resident, Document,
    CallLog, Complaint, ReleaseSlip, ReleaseItem, Visitor,
    MoveIn, Inspection, InspectionItem, WorkOrder, Custody, CustodyPatrol,
    RenovationPermit, WorkerPass, RenovationCheck,
    DeptCheck, Patrol, Notification,
    FollowupVisit, Survey, BulletinPost, CommunityEvent, ServiceItem, ServiceOrder,
    LeasableAsset, Lease, Charge, Payment, PaymentAllocation, Dunning,
    Department, AppUser, SavedView, AuditLog,
)

add_spec_indexes(REGISTRY)

__all__ = [m.__name__ for m in REGISTRY] + ["REGISTRY", "NumberSequence"]
