"""Units: the details page shows what the unit owes and how it has been chased."""
from .generic import SchemaView
from .ledger import payer_sections


class UnitView(SchemaView):
    def record_sections(self, model):
        return payer_sections(unit_id=model.id)
