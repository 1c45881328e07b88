"""Forms of the verification workspace (every label translatable, every field labelled)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, RadioField, SelectChoice, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from kpi_app.services.evidence import ACCEPT
from kpi_app.services.review_threads import MAX_MESSAGE_LENGTH
from kpi_app.services.workflow import REOPEN_TARGETS, status_label, verification_code_choices


def options(pairs: list[tuple[str, object]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices (tuples are deprecated in WTForms 3.3)."""
    return [SelectChoice(value, label) for value, label in pairs]


class ReasonForm(FlaskForm):
    """A workflow step that needs a reason (returning to the city)."""

    reason = TextAreaField(
        _l("Reason"), validators=[DataRequired(), Length(max=MAX_MESSAGE_LENGTH)]
    )
    submit = SubmitField(_l("Return to the city"))


class ActionForm(FlaskForm):
    """A workflow step without fields (submit, start review, verify, publish)."""


class ReopenForm(FlaskForm):
    target = RadioField(_l("Reopen to"), validators=[InputRequired()])
    reason = TextAreaField(
        _l("Reason"), validators=[DataRequired(), Length(max=MAX_MESSAGE_LENGTH)]
    )
    submit = SubmitField(_l("Reopen"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.target.choices = options([(s.value, status_label(s)) for s in REOPEN_TARGETS])


class VerificationForm(FlaskForm):
    version = HiddenField()
    verified = RadioField(
        _l("Verified"),
        choices=options([("yes", _l("Yes")), ("no", _l("No"))]),
        validators=[InputRequired()],
    )
    code = SelectField(_l("Reason"), validators=[InputRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=MAX_MESSAGE_LENGTH)])
    submit = SubmitField(_l("Save verification"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.code.choices = options([("", "—"), *verification_code_choices()])


class ReportedForm(FlaskForm):
    version = HiddenField()
    reported = RadioField(
        _l("Reported"),
        choices=options(
            [
                ("auto", _l("Automatic (as the city reported it)")),
                ("yes", _l("Reported")),
                ("no", _l("Not reported")),
            ]
        ),
        validators=[InputRequired()],
    )
    reason = TextAreaField(
        _l("Reason for the override"), validators=[Optional(), Length(max=MAX_MESSAGE_LENGTH)]
    )
    submit = SubmitField(_l("Save reported flag"))


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=MAX_MESSAGE_LENGTH)])
    submit = SubmitField(_l("Send"))


class ReplyForm(FlaskForm):
    """The city's reply to a query: a message, a file (evidence of the value), or both."""

    body = TextAreaField(_l("Message"), validators=[Optional(), Length(max=MAX_MESSAGE_LENGTH)])
    file = FileField(_l("Attach a file (optional)"), render_kw={"accept": ACCEPT})
    submit = SubmitField(_l("Send"))


class ResolveForm(FlaskForm):
    note = TextAreaField(
        _l("Closing note (optional)"), validators=[Optional(), Length(max=MAX_MESSAGE_LENGTH)]
    )
    submit = SubmitField(_l("Resolve query"))


class RevertForm(FlaskForm):
    version = HiddenField()
    reason = TextAreaField(
        _l("Why go back to this version?"),
        validators=[DataRequired(), Length(max=MAX_MESSAGE_LENGTH)],
    )
    submit = SubmitField(_l("Restore this version"))


class DecisionForm(FlaskForm):
    """One row of the review table: a reason code decides verified (yes) or not (no)."""

    version = HiddenField()
    code = SelectField(_l("Decision"), validators=[InputRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=MAX_MESSAGE_LENGTH)])
    submit = SubmitField(_l("Save decision"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.code.choices = options([("", "—"), *verification_code_choices()])


class BulkVerifyForm(FlaskForm):
    """Verify many values of the review table at once, with one "verified" reason."""

    code = SelectField(_l("Verified because"), validators=[DataRequired()])
    scope = HiddenField()
    shown = HiddenField()

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.code.choices = options([("", "—"), *verification_code_choices(True)])
