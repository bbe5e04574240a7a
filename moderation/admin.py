"""The moderators' workflow in Django admin (docs/moderation.md, "Working the queue").

Reports, sanctions and the audit log are read-only pages: every change goes through a button or
an action that calls ``moderation.services``, which checks the permission again and writes the
audit row. Nothing here edits a row directly.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from accounts.selectors import member_by_username
from audiosocial.errors import ApplicationError
from moderation import selectors, services
from moderation.models import AuditLog, Block, Report, Sanction
from moderation.permissions import (
    PERM_APPLY_SANCTION,
    PERM_END_ROOM,
    PERM_LIFT_SANCTION,
    PERM_WORK_REPORTS,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows are written by services only: no add, edit or delete through the generic forms."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- Reports -----------------------------------------------------------------------------------


class ReportStatusFilter(admin.SimpleListFilter):
    """The queue shows open and in-review reports unless another status is chosen."""

    title = "status"
    parameter_name = "status"
    DEFAULT = "active"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(self.DEFAULT, "Open or in review"), *Report.Status.choices, ("all", "All")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value() or self.DEFAULT
        if value == self.DEFAULT:
            return queryset.filter(status__in=Report.ACTIVE_STATUSES)
        if value in Report.Status.values:
            return queryset.filter(status=value)
        return queryset

    def choices(self, changelist: Any):
        value = self.value() or self.DEFAULT
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class ResolveForm(forms.Form):
    OUTCOMES = [
        ("", "No sanction"),
        (Sanction.Kind.WARNING, "Warning"),
        (Sanction.Kind.SUSPENSION, "Suspension"),
        (Sanction.Kind.BAN, "Permanent ban"),
    ]

    sanction = forms.ChoiceField(
        choices=OUTCOMES, required=False, widget=forms.RadioSelect, initial=""
    )
    days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=services.SUSPENSION_MAX_DAYS,
        initial=7,
        help_text="For a suspension: how many days.",
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        max_length=2000,
        help_text="Why (kept in the report and the audit log; the reporter does not see it).",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("sanction") == Sanction.Kind.SUSPENSION and not data.get("days"):
            self.add_error("days", "Say how many days the suspension lasts.")
        return data


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    change_form_template = "admin/moderation/report/change_form.html"
    list_display = (
        "severity_label",
        "category",
        "target",
        "reporter",
        "status",
        "assigned_to",
        "submissions",
        "waiting",
    )
    list_display_links = ("severity_label", "category", "target")
    list_filter = (ReportStatusFilter, "category", "target_type", "severity")
    list_select_related = ("reporter", "target_user", "target_room", "assigned_to")
    ordering = ("-severity", "created_at", "pk")
    search_fields = ("target_user__username", "reporter__username", "target_room__title")
    actions = ["assign_to_me", "dismiss_selected"]
    fieldsets = (
        (
            "Report",
            {
                "fields": (
                    ("category", "severity", "status"),
                    ("target_type", "target_user", "target_room"),
                    "reporter",
                    "text",
                    ("submissions", "created_at", "last_submitted_at"),
                )
            },
        ),
        ("Evidence captured when reported", {"fields": ("evidence_display",)}),
        ("The target's history", {"fields": ("history_display",)}),
        (
            "Handling",
            {
                "fields": (
                    "assigned_to",
                    ("resolved_by", "resolved_at"),
                    "resolution_note",
                    "sanction",
                )
            },
        ),
    )
    readonly_fields = ("evidence_display", "history_display")

    def has_work_permission(self, request: HttpRequest) -> bool:
        return request.user.is_staff and request.user.has_perm(PERM_WORK_REPORTS)

    # Columns ----------------------------------------------------------------------------------

    @admin.display(description="Severity", ordering="-severity")
    def severity_label(self, obj: Report) -> str:
        return obj.get_severity_display()

    @admin.display(description="Target")
    def target(self, obj: Report) -> str:
        parts = []
        if obj.target_user_id:
            parts.append(f"@{obj.target_user.username}")
        if obj.target_room_id:
            parts.append(f"in “{obj.target_room.title}”" if parts else f"“{obj.target_room.title}”")
        return " ".join(parts) or "(deleted)"

    @admin.display(description="Waiting", ordering="created_at")
    def waiting(self, obj: Report) -> str:
        return timesince(obj.created_at)

    @admin.display(description="Evidence")
    def evidence_display(self, obj: Report) -> str:
        if not obj.evidence:
            return "No room evidence: this report was not made about a room."
        return render_to_string(
            "admin/moderation/report/evidence.html",
            {"captures": obj.evidence, "raw": json.dumps(obj.evidence, indent=2, sort_keys=True)},
        )

    @admin.display(description="History")
    def history_display(self, obj: Report) -> str:
        return render_to_string(
            "admin/moderation/report/history.html",
            {"report": obj, "history": selectors.target_history(report=obj), "now": timezone.now()},
        )

    # Actions on the list ----------------------------------------------------------------------

    @admin.action(description="Assign to me", permissions=["work"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._bulk(request, queryset, lambda r: services.report_assign(report=r, by=request.user))

    @admin.action(description="Dismiss (no action needed)", permissions=["work"])
    def dismiss_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._bulk(
            request,
            queryset,
            lambda r: services.report_dismiss(
                report=r, by=request.user, note="Dismissed from the queue."
            ),
        )

    def _bulk(self, request: HttpRequest, queryset: QuerySet, act: Any) -> None:
        done, refused = 0, []
        for report in queryset:
            try:
                act(report)
                done += 1
            except ApplicationError as exc:
                refused.append(f"#{report.pk}: {exc.message}")
        if done:
            self.message_user(request, f"{done} report(s) updated.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)

    # Buttons on the report page ---------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/assign/",
                wrap(self.assign_view),
                name="moderation_report_assign",
            ),
            path(
                "<path:object_id>/resolve/",
                wrap(self.resolve_view),
                name="moderation_report_resolve",
            ),
            path(
                "<path:object_id>/dismiss/",
                wrap(self.dismiss_view),
                name="moderation_report_dismiss",
            ),
            path(
                "<path:object_id>/end-room/",
                wrap(self.end_room_view),
                name="moderation_report_end_room",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        report = self.get_object(request, object_id)
        can_work = self.has_work_permission(request)
        room = report.target_room if report is not None else None
        context = {
            **(extra_context or {}),
            "can_work": can_work and report is not None and report.is_active,
            "can_sanction": request.user.has_perm(PERM_APPLY_SANCTION),
            "can_end_room": (
                room is not None and room.is_live and request.user.has_perm(PERM_END_ROOM)
            ),
            "report_obj": report,
        }
        return super().change_view(request, object_id, form_url, extra_context=context)

    def _report_for_action(self, request: HttpRequest, object_id: str) -> Report:
        if not self.has_work_permission(request):
            raise PermissionDenied
        report = self.get_object(request, object_id)
        if report is None:
            raise Http404("No such report.")
        return report

    def _back(self, report: Report) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:moderation_report_change", args=[report.pk]))

    def _run(self, request: HttpRequest, report: Report, act: Any, success: str) -> HttpResponse:
        try:
            act()
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(request, success, messages.SUCCESS)
        return self._back(report)

    def assign_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        report = self._report_for_action(request, object_id)
        if request.method != "POST":
            return self._back(report)
        return self._run(
            request,
            report,
            lambda: services.report_assign(report=report, by=request.user),
            "The report is assigned to you.",
        )

    def dismiss_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        report = self._report_for_action(request, object_id)
        if request.method != "POST":
            return self._back(report)
        return self._run(
            request,
            report,
            lambda: services.report_dismiss(
                report=report, by=request.user, note=request.POST.get("note", "")
            ),
            "The report is dismissed; the reporter is told it was reviewed.",
        )

    def end_room_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        report = self._report_for_action(request, object_id)
        if not request.user.has_perm(PERM_END_ROOM):
            raise PermissionDenied
        if request.method != "POST":
            return self._back(report)
        if report.target_room is None:
            self.message_user(request, "This report names no room.", messages.ERROR)
            return self._back(report)
        return self._run(
            request,
            report,
            lambda: services.live_room_end(
                room=report.target_room,
                by=request.user,
                reason=request.POST.get("reason", ""),
                report=report,
            ),
            "The room is ended; everyone in it is out, audio included.",
        )

    def resolve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        report = self._report_for_action(request, object_id)
        if not report.is_active:
            self.message_user(
                request,
                f"This report is already {report.get_status_display().lower()}.",
                messages.ERROR,
            )
            return self._back(report)
        form = ResolveForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.report_resolve(
                    report=report,
                    by=request.user,
                    note=form.cleaned_data["note"],
                    sanction_kind=form.cleaned_data["sanction"] or None,
                    suspension_days=form.cleaned_data.get("days"),
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(
                    request, "The report is resolved; the reporter is told.", messages.SUCCESS
                )
                return self._back(report)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Resolve {report}",
            "opts": self.opts,
            "report": report,
            "form": form,
            "can_sanction": request.user.has_perm(PERM_APPLY_SANCTION)
            and report.target_user_id is not None,
        }
        return TemplateResponse(request, "admin/moderation/report/resolve.html", context)


# --- Sanctions ---------------------------------------------------------------------------------


class InForceFilter(admin.SimpleListFilter):
    title = "in force"
    parameter_name = "in_force"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "In force"), ("no", "Over (ended, expired or lifted)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        in_force = Q(pk__in=selectors.restricted_sanctions().values("pk"))
        if self.value() == "yes":
            return queryset.filter(in_force)
        if self.value() == "no":
            return queryset.exclude(in_force)
        return queryset


class ApplySanctionForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="The member's username.")
    kind = forms.ChoiceField(choices=Sanction.Kind.choices, widget=forms.RadioSelect)
    days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=services.SUSPENSION_MAX_DAYS,
        initial=7,
        help_text="For a suspension: how many days.",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 60}), max_length=2000)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("kind") == Sanction.Kind.SUSPENSION and not data.get("days"):
            self.add_error("days", "Say how many days the suspension lasts.")
        return data


@admin.register(Sanction)
class SanctionAdmin(ReadOnlyAdmin):
    change_form_template = "admin/moderation/sanction/change_form.html"
    list_display = (
        "user",
        "kind",
        "starts_at",
        "ends_at",
        "in_force",
        "created_by",
        "lifted_at",
        "expired_at",
    )
    list_filter = ("kind", InForceFilter)
    list_select_related = ("user", "created_by")
    search_fields = ("user__username",)
    ordering = ("-created_at",)
    fields = (
        ("user", "kind"),
        "reason",
        ("starts_at", "ends_at"),
        ("created_by", "created_at"),
        ("lifted_at", "expired_at"),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_staff and request.user.has_perm(PERM_APPLY_SANCTION)

    def has_lift_permission(self, request: HttpRequest) -> bool:
        return request.user.is_staff and request.user.has_perm(PERM_LIFT_SANCTION)

    @admin.display(description="In force", boolean=True)
    def in_force(self, obj: Sanction) -> bool | None:
        return obj.in_force_at(timezone.now()) if obj.restricts else None

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/lift/", wrap(self.lift_view), name="moderation_sanction_lift"),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        sanction = self.get_object(request, object_id)
        context = {
            **(extra_context or {}),
            "can_lift": (
                sanction is not None
                and sanction.in_force_at(timezone.now())
                and self.has_lift_permission(request)
            ),
        }
        return super().change_view(request, object_id, form_url, extra_context=context)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        """Applying a sanction is a service call, not a model form."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        initial = {"username": request.GET.get("username", "")}
        form = ApplySanctionForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                user = member_by_username(username=form.cleaned_data["username"])
                kind = form.cleaned_data["kind"]
                until = None
                if kind == Sanction.Kind.SUSPENSION:
                    until = timezone.now() + timedelta(days=form.cleaned_data["days"])
                sanction = services.sanction_apply(
                    user=user,
                    kind=kind,
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                    until=until,
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"{sanction} applied.", messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:moderation_sanction_change", args=[sanction.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": "Apply a sanction",
            "opts": self.opts,
            "form": form,
        }
        return TemplateResponse(request, "admin/moderation/sanction/apply.html", context)

    def lift_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_lift_permission(request):
            raise PermissionDenied
        # get_object, like the admin's own views: an id that is not a number is "not found".
        sanction = self.get_object(request, object_id)
        if sanction is None:
            raise Http404("No such sanction.")
        back = HttpResponseRedirect(reverse("admin:moderation_sanction_change", args=[sanction.pk]))
        if request.method != "POST":
            return back
        try:
            services.sanction_lift(
                sanction=sanction, by=request.user, reason=request.POST.get("reason", "")
            )
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(request, "The sanction is lifted.", messages.SUCCESS)
        return back


# --- Audit log and blocks (read only) ----------------------------------------------------------


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "actor",
        "action",
        "target_user",
        "target_room",
        "report_link",
        "reason",
    )
    list_filter = ("action",)
    list_select_related = ("actor", "target_user", "target_room", "target_report")
    search_fields = ("actor__username", "target_user__username", "reason")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    fields = (
        ("created_at", "actor", "action"),
        ("target_user", "target_room", "target_report"),
        "reason",
        "data_display",
    )
    readonly_fields = ("data_display",)

    @admin.display(description="Report")
    def report_link(self, obj: AuditLog) -> str:
        if obj.target_report_id is None:
            return "—"
        url = reverse("admin:moderation_report_change", args=[obj.target_report_id])
        return format_html('<a href="{}">#{}</a>', url, obj.target_report_id)

    @admin.display(description="Data")
    def data_display(self, obj: AuditLog) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.data, indent=2, sort_keys=True))


@admin.register(Block)
class BlockAdmin(ReadOnlyAdmin):
    """Blocks are private: only users explicitly given ``view_block`` (superusers) see them."""

    list_display = ("blocker", "blocked", "created_at")
    list_select_related = ("blocker", "blocked")
    search_fields = ("blocker__username", "blocked__username")
