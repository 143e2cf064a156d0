"""Forms for documents: they parse what was typed; the services check the file and the rules."""

from __future__ import annotations

from typing import Any

from django import forms

from .document_models import DocumentCategory
from .forms import DateField, ServiceForm, _blank


class DocumentUploadForm(ServiceForm):
    file = forms.FileField(
        label="File (PDF, JPEG, PNG or TIFF, up to 20 MB)",
        widget=forms.ClearableFileInput(
            attrs={"accept": "application/pdf,image/jpeg,image/png,image/tiff"}
        ),
    )
    category = forms.ChoiceField(choices=_blank(DocumentCategory.choices, "Choose…"))
    title = forms.CharField(max_length=200, required=False, label="Title")
    document_date = DateField(label="Date of the document")
    note = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The service names the file "file"; a wrong type or size lands on the field.
        self.fields["file"].error_messages["required"] = "File: choose the scanned PDF or image"


class VoidDocumentForm(ServiceForm):
    reason = forms.CharField(
        max_length=500, label="Reason", help_text="wrong chart, wrong file, duplicate…"
    )
