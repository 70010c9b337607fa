"""Forms of the monitoring app: the import upload (browser page and admin)."""

from pathlib import Path

from django import forms
from django.conf import settings

from .models import Source
from .services import ALLOWED_SUFFIXES


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size} 字节"


class ImportUploadForm(forms.Form):
    source = forms.ChoiceField(
        label="数据来源",
        choices=[("", "请选择数据来源"), *Source.choices],
        error_messages={
            "required": "请选择数据来源（调查数据、监测名单或民政名册）",
            "invalid_choice": "数据来源无效，请从列表中选择",
        },
    )
    file = forms.FileField(
        label="文件",
        help_text="支持 .xlsx、.xls、.csv（UTF-8 或 GBK 编码）",
        error_messages={
            "required": "请选择要导入的文件",
            "empty": "文件是空的（0字节），请选择正确的文件",
            "invalid": "没有收到文件，请重新选择",
            "missing": "没有收到文件，请重新选择",
        },
    )
    skip_invalid = forms.BooleanField(
        label="跳过错误行",
        required=False,
        help_text="不勾选时为严格模式：文件中有任何错误都不写入；勾选后只写入正确的行，错误行列入错误报告",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"文件过大（{_megabytes(upload.size)}），单个文件不能超过{_megabytes(limit)}。"
                "请按乡镇拆分后分别导入"
            )
        suffix = Path(upload.name or "").suffix.lower()
        if suffix not in ALLOWED_SUFFIXES:
            raise forms.ValidationError(
                f"不支持的文件类型“{suffix or '无扩展名'}”：请上传 .xlsx、.xls 或 .csv 文件"
            )
        return upload
