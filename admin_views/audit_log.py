"""The audit log list, narrowed to one record's history by `?table=&record=`."""
from flask import request
from sqlalchemy import func

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

    def get_query(self):
        return self._history(super().get_query())

    def get_count_query(self):
        return self._history(self.db_session.query(func.count("*")).select_from(self.model))

    def record_links(self, model):
        return []
