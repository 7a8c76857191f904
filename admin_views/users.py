"""Staff accounts: passwords are set through the form and stored hashed, never shown.

A new password must pass app/passwords.py; changing one ends the user's open sessions."""
from flask import session
from flask_login import current_user
from wtforms import PasswordField
from wtforms.validators import Optional, ValidationError

from app import passwords

from .generic import SchemaView


def password_policy(form, field):
    """The policy on the field, checked against the username typed in the same form."""
    username = form.username.data if hasattr(form, "username") else ""
    found = passwords.problems(field.data or "", username or "")
    if field.data and found:
        raise ValidationError(";".join(found))


class AppUserView(SchemaView):
    def scaffold_form(self):
        form = super().scaffold_form()
        form.new_password = PasswordField(
            "新密码", validators=[Optional(), password_policy],
            description="新建用户必填;修改时留空表示不改密码。至少10位,含大小写字母、数字、符号中的3类")
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
            if not is_created:
                self._end_sessions(model)

    @staticmethod
    def _end_sessions(model) -> None:
        """Old cookies die with the old password; the admin changing their own keeps this session."""
        from app.auth import TOKEN_KEY, rotate_session_token

        token = rotate_session_token(model.id)
        if current_user.is_authenticated and current_user.id == model.id:
            session[TOKEN_KEY] = token
