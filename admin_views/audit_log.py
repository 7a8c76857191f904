"""The audit log list, narrowed to one record's history by `?table=&record=`."""
from flask import request

from .generic import SchemaView


class AuditLogView(SchemaView):
    can_view_details = True

    def _history(self, query):
        table = request.args.get("table")
        record = request.args.get("record", type=int)
        if table:
            query = query.filter(self.model.table_name == table)
        if record is not None:
            query = query.filter(self.model.record_id == record)
        return query

    def scope(self, query):
        return self._history(query)

    def record_links(self, model):
        return []
