"""The work queue of findings (比对发现) and the decisions on them: handle, dismiss, open a
case, or answer the finding with the record it asks for (`FINDING_ACTIONS`)."""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from cases.audit import Action, audit, audit_list, audit_view
from cases.casework_base import today
from cases.exports import xlsx_response
from cases.identity import mask_id_number
from cases.scope import scope_for, scope_safe
from cases.selectors import parse_page_number
from cases.services import ServiceError
from cases.text import clean_text
from monitoring.finding_actions import (
    finding_open_benefit_application,
    finding_open_case,
    finding_open_education_plan,
    finding_open_pairing,
    finding_record_assistance,
    finding_record_rehab_service,
)
from monitoring.findings import (
    FindingError,
    finding_dismiss,
    finding_handle,
    findings_dismiss_bulk,
    findings_handle_bulk,
)
from monitoring.import_selectors import batch_file_response, can_download_batch_files
from monitoring.models import Finding, ImportBatch
from monitoring.rules import REGISTRY, benefit_of, case_opening_codes
from monitoring.rules import evidence as ev
from staff.forms.casework import (
    AssistanceForm,
    EducationPlanForm,
    PairingForm,
    RehabServiceForm,
    StaffForm,
)
from staff.forms.findings import (
    FindingApplicationForm,
    FindingBulkForm,
    FindingDismissForm,
    FindingHandleForm,
    FindingOpenCaseForm,
)
from staff.selectors.findings import finding_detail as finding_in_scope
from staff.selectors.findings import finding_events, finding_queue, queue_view
from staff.selectors.person_work import needs_a_service_can_answer
from staff.selectors.places import places
from staff.selectors.visits import days_since
from staff.views.common import (
    EXPORT_LIMIT,
    GET_POST,
    export_filename,
    form_data,
    form_page,
    next_url,
    require_writer_role,
    scope_context,
)

FINDINGS_PER_PAGE = 50


def chip_links(
    query: QueryDict, counts: list[tuple[str, str, int]]
) -> list[tuple[str, str, int, str]]:
    """(code, name, count, query string) of each rule chip: the current filters with the
    rule set and the page dropped, as `{% query_with rule=code %}` gives them, from one
    copy of the query rather than one per chip."""
    query = query.copy()
    query.pop("page", None)
    chips = []
    for code, name, count in counts:
        query["rule"] = code
        chips.append((code, name, count, query.urlencode()))
    return chips


def _queue_context(request, bulk_form=None) -> dict:
    def fill(scope) -> dict:
        page, counts, filterset = queue_view(
            request.user,
            request.GET,
            places(request.user),
            parse_page_number(request.GET.get("page")),
            FINDINGS_PER_PAGE,
        )
        audit_list(request, "monitoring.finding", request.GET, len(page.rows))
        return {
            "filter": filterset,
            "page": page,
            "chips": chip_links(request.GET, counts),
            "current_rule": request.GET.get("rule", ""),
            "bulk_form": bulk_form or (FindingBulkForm() if scope.can_write else None),
        }

    context = scope_context(request, "findings", fill)
    context["can_write"] = context["scope"].can_write
    return context


@scope_safe(how="findings via selectors_findings.finding_queue (scoped); villages scoped")
@login_required
@require_GET
def finding_list(request):
    return render(request, "staff/finding_list.html", _queue_context(request))


@scope_safe(how="findings via selectors_findings.finding_queue (scoped); IDs masked")
@login_required
@require_GET
def finding_export(request):
    if scope_for(request.user).sees_nothing:
        raise PermissionDenied("您的账号尚未分配数据范围，不能导出")

    rows_qs, _, _ = finding_queue(request.user, request.GET, places(request.user))

    def rows():
        for finding in rows_qs[:EXPORT_LIMIT].iterator(chunk_size=2000):
            rule = REGISTRY.get(finding.rule)
            evidence = ev.shown(finding.evidence)
            yield (
                finding.rule,
                rule.name if rule else "",
                finding.person.name,
                mask_id_number(finding.person.id_number),
                finding.township.name if finding.township_id else "",
                finding.village.name if finding.village_id else "",
                finding.get_status_display(),
                finding.reason,
                finding.opened_at,
                days_since(finding.opened_at),
                finding.action_taken or finding.dismiss_reason,
                # One item per line, in the same order in all three columns.
                "\n".join(item.source for item in evidence),
                "\n".join(item.place or "—" for item in evidence),
                "\n".join(item.fact for item in evidence),
            )

    return xlsx_response(
        export_filename("比对发现工作清单"),
        (
            "规则编号",
            "规则名称",
            "姓名",
            "公民身份号码（脱敏）",
            "乡镇",
            "村（社区）",
            "状态",
            "原因",
            "发现时间",
            "已发现天数",
            "处理措施/不予处理原因",
            *EVIDENCE_HEADERS,
        ),
        rows(),
        sheet_title="比对发现",
        text_columns=(3,),
        widths=(8, 24, 10, 22, 12, 14, 8, 60, 18, 10, 30, 14, 40, 40),
        request=request,
        label="monitoring.finding",
    )


# The export's evidence columns (docs/CROSSCHECK.md#evidence): one line per item.
EVIDENCE_HEADERS = ("依据·数据来源", "依据·文件与行号", "依据·字段与取值")


def evidence_context(user, finding: Finding) -> dict:
    """The finding page's 依据 block: the items, and the import files they name (with a
    download link for the roles that may have the original files)."""
    items = ev.shown(finding.evidence)
    files = {item.batch: item.file for item in items if item.batch is not None}
    return {
        "evidence": items,
        "evidence_files": sorted(files.items()),
        "can_download_files": can_download_batch_files(user),
    }


def _detail(request, finding, *, status=200, **forms):

    scope = scope_for(request.user)
    writer = scope.can_write
    decidable = finding.status != Finding.Status.CLEARED
    labels = dict(Finding.Status.choices)
    events = list(finding_events(finding))
    for event in events:
        event.from_label = labels.get(event.from_status, event.from_status)
        event.to_label = labels.get(event.to_status, event.to_status)
    rule = REGISTRY.get(finding.rule)
    context = {
        "finding": finding,
        "rule_name": rule.name if rule else "",
        "events": events,
        "age_days": days_since(finding.opened_at),
        "can_write": writer,
        "nav": "findings",
        "next": next_url(request, ""),
        **evidence_context(request.user, finding),
    }
    if writer and decidable:
        context["handle_form"] = forms.get("handle_form") or FindingHandleForm()
        context["dismiss_form"] = forms.get("dismiss_form") or FindingDismissForm()
        if finding.rule in case_opening_codes() and finding.status == Finding.Status.OPEN:
            context["open_case_form"] = forms.get("open_case_form") or FindingOpenCaseForm()
        if finding.status == Finding.Status.OPEN:
            context["actions"] = actions_for(finding.rule)
    # Errors of a posted form the page does not show (e.g. a case for a non-M rule).
    shown = [value for value in context.values() if hasattr(value, "errors")]
    context["problems"] = [
        error
        for form in forms.values()
        if form is not None and form not in shown
        for errors in form.errors.values()
        for error in errors
    ]
    return render(request, "staff/finding_detail.html", context, status=status)


@scope_safe(how="one finding via selectors_findings.finding_detail (get_in_scope_or_404)")
@login_required
@require_GET
def finding_detail(request, pk: int):
    finding = finding_in_scope(request.user, pk)
    audit_view(request, finding)
    return _detail(request, finding)


@scope_safe(
    how="finding via selectors_findings.finding_detail (get_in_scope_or_404); the batch must "
    "be named by its evidence; county admins only (can_download_batch_files)"
)
@login_required
@require_GET
def finding_evidence_file(request, pk: int, batch_id: int):
    """The original import file a finding's evidence names, for a county admin.

    Outside the user's scope, or a batch the finding does not cite: 404. Any other role:
    403 (audited as denied by the audit middleware). The file holds every row's full ID
    numbers, hence the county-admin rule of `import_selectors.can_download_batch_files`.
    Audited as a download of the batch, naming the finding.
    """
    finding = finding_in_scope(request.user, pk)
    if batch_id not in ev.batch_ids(finding.evidence):
        raise Http404("该比对发现的依据中没有这个导入文件")
    if not can_download_batch_files(request.user):
        raise PermissionDenied("只有县残联管理员可以下载导入的原文件（含完整身份证号）")
    batch = ImportBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        raise Http404("导入批次已不存在")
    response = batch_file_response(batch, "original")
    # The uploader's file name, without control or bidi characters, quotes or slashes.
    name = "".join(
        ch for ch in clean_text(batch.original_name) if ch.isprintable() and ch not in '"\\/'
    )
    response["Content-Disposition"] = content_disposition_header(
        True, name.strip() or f"batch-{batch.pk}"
    )
    audit(
        request,
        Action.DOWNLOAD,
        target=batch,
        details={"file": name, "batch": batch.pk, "finding": finding.pk},
    )
    return response


def _done(request, text: str):
    messages.success(request, text)
    return redirect(next_url(request, reverse("staff:finding_list")))


def _decision(request, pk: int, form_class, form_key: str, field: str, decide):
    """A decision posted from the finding page: `decide(finding, cleaned_data)` calls the
    service and answers; a refusal goes back onto the form (a `FindingError` on `field`) and
    the finding page is shown again with it."""
    finding = finding_in_scope(request.user, pk)
    require_writer_role(request)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            return decide(finding, form.cleaned_data)
        except FindingError as error:
            form.add_error(field, str(error))
        except ServiceError as error:
            form.add_service_error(error)
    return _detail(request, finding, status=400, **{form_key: form})


@scope_safe(how="finding via get_in_scope_or_404; write via findings.finding_handle")
@login_required
@require_POST
def finding_handle_view(request, pk: int):
    def handle(finding, data):
        finding_handle(finding, request.user, data["action_taken"])
        return _done(request, f"已处理：{finding.rule} {finding.person.name}")

    return _decision(request, pk, FindingHandleForm, "handle_form", "action_taken", handle)


@scope_safe(how="finding via get_in_scope_or_404; write via findings.finding_dismiss")
@login_required
@require_POST
def finding_dismiss_view(request, pk: int):
    def dismiss(finding, data):
        finding_dismiss(finding, request.user, data["reason"])
        return _done(request, f"已标记不予处理：{finding.rule} {finding.person.name}")

    return _decision(request, pk, FindingDismissForm, "dismiss_form", "reason", dismiss)


@scope_safe(how="finding via get_in_scope_or_404; write via finding_actions.finding_open_case")
@login_required
@require_POST
def finding_open_case_view(request, pk: int):
    def open_case(finding, data):
        case = finding_open_case(request.user, finding, reason=data["reason"])
        messages.success(
            request,
            f"{finding.rule}：{case.household}的监测对象（编号{case.pk}，"
            f"{case.get_status_display()}），该发现已标记为已处理",
        )
        return redirect("staff:household_detail", pk=case.household_id)

    return _decision(request, pk, FindingOpenCaseForm, "open_case_form", "reason", open_case)


@scope_safe(how="findings via findings.*_bulk, which keep to scoped() ids only")
@login_required
@require_POST
def finding_bulk(request):
    """Handle or dismiss several ticked findings with one action or reason."""
    require_writer_role(request)
    form = FindingBulkForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        decide = findings_handle_bulk if data["decision"] == "handle" else findings_dismiss_bulk
        try:
            result = decide(data["ids"], request.user, data["text"])
        except FindingError as error:
            form.add_error("text", str(error))
        else:
            label = "已处理" if data["decision"] == "handle" else "不予处理"
            text = f"已将{result['updated']}条比对发现标记为{label}"
            if result["skipped"]:
                text += f"；{result['skipped']}条未变更（已消除、不存在或不在您的数据范围内）"
            return _done(request, text)
    context = _queue_context(request, bulk_form=form)
    return render(request, "staff/finding_list.html", context, status=400)


@dataclass(frozen=True)
class FindingAction:
    """A way to answer a finding with the record it asks for, in one step (the record is
    created and the finding marked 已处理 together, by `monitoring.finding_actions`)."""

    key: str
    label: str
    fits: Callable[[str], bool]
    form: Callable[[object, Finding, object], StaffForm]
    act: Callable[..., object]


FINDING_ACTIONS: dict[str, FindingAction] = {
    action.key: action
    for action in (
        FindingAction(
            "application",
            "代为申请救助与补贴",
            lambda code: bool(benefit_of(code)),
            lambda data, finding, user: FindingApplicationForm(
                data,
                initial={"benefit_type": benefit_of(finding.rule), "applied_on": today()},
            ),
            finding_open_benefit_application,
        ),
        FindingAction(
            "rehab-service",
            "登记康复服务",
            lambda code: code.startswith("R"),
            lambda data, finding, user: RehabServiceForm(
                data,
                initial={"served_on": today()},
                needs=needs_a_service_can_answer(user, finding.person_id),
            ),
            finding_record_rehab_service,
        ),
        FindingAction(
            "education-plan",
            "登记一人一案",
            lambda code: code.startswith("E"),
            lambda data, finding, user: EducationPlanForm(data, initial={"verified_on": today()}),
            finding_open_education_plan,
        ),
        FindingAction(
            "pairing",
            "安排结对帮扶",
            lambda code: code.startswith("P"),
            lambda data, finding, user: PairingForm(data, initial={"started_on": today()}),
            finding_open_pairing,
        ),
        FindingAction(
            "assistance",
            "落实帮扶措施",
            lambda code: code.startswith("Q"),
            lambda data, finding, user: AssistanceForm(data, initial={"started_on": today()}),
            finding_record_assistance,
        ),
    )
}


def actions_for(code: str) -> list[FindingAction]:
    return [action for action in FINDING_ACTIONS.values() if action.fits(code)]


@scope_safe(how="finding via get_in_scope_or_404; write via monitoring.finding_actions")
@login_required
@GET_POST
def finding_act(request, pk: int, action: str):
    """Answer an open finding with the record it asks for (an R01 with the rehabilitation
    service delivered, an S01 with an application, …); the finding becomes 已处理."""
    chosen = FINDING_ACTIONS.get(action)
    finding = finding_in_scope(request.user, pk)
    if chosen is None or not chosen.fits(finding.rule):
        raise Http404("该比对发现不适用此处理方式")
    require_writer_role(request)
    form = chosen.form(form_data(request), finding, request.user)
    return form_page(
        request,
        form,
        template="staff/finding_act.html",
        context={"finding": finding, "title": chosen.label, "nav": "findings"},
        on_valid=lambda f: chosen.act(request.user, finding, **f.service_kwargs()),
        success_message=f"{finding.rule} {finding.person.name}：{chosen.label}，该发现已标记为已处理",
        success_url=reverse("staff:finding_detail", args=[finding.pk]),
    )
