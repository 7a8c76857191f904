"""Staff accounts: passwords are set through the form and stored hashed, never shown."""
from wtforms import PasswordField
from wtforms.validators import Length, Optional

from .generic import SchemaView

MIN_PASSWORD = 8


class AppUserView(SchemaView):
    def scaffold_form(self):
        form = super().scaffold_form()
        form.new_password = PasswordField(
            "新密码", validators=[Optional(), Length(min=MIN_PASSWORD, message=f"密码至少{MIN_PASSWORD}位")],
            description="新建用户必填;修改时留空表示不改密码")
        return form

    def validate_form(self, form):
        ok = super().validate_form(form)
        field = getattr(form, "new_password", None)
        if ok and field is not None and self._creating() and not field.data:
            field.errors = list(field.errors or []) + ["新建用户须设置密码"]
            return False
        return ok

    @staticmethod
    def _creating() -> bool:
        from flask import request

        return (request.endpoint or "").endswith("create_view")

    def on_model_change(self, form, model, is_created):
        if getattr(form, "new_password", None) is not None and form.new_password.data:
            model.set_password(form.new_password.data)
