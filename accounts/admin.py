"""Admin: members with their profile, inviter and invitations; invitations searchable and
revocable (through the service); each member's "invited by" chain for tracing spam rings."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from accounts import selectors, services
from accounts.models import Invitation, User
from audiosocial.errors import ApplicationError


class MemberCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class MemberChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User


class InvitationInline(admin.TabularInline):
    model = Invitation
    fk_name = "created_by"
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("code", "email", "status", "created_at", "expires_at", "used_by", "revoked_at")
    readonly_fields = fields
    ordering = ("-created_at",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="status")
    def status(self, obj: Invitation) -> str:
        return obj.status_label


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = MemberChangeForm
    add_form = MemberCreationForm
    list_display = (
        "username",
        "display_name",
        "email",
        "nominated_by",
        "date_joined",
        "is_active",
        "is_staff",
    )
    list_select_related = ("nominated_by",)
    search_fields = ("username", "display_name", "email", "nominated_by__username")
    raw_id_fields = ("nominated_by",)
    readonly_fields = ("invited_by_chain", "invitations_left", "last_login", "date_joined")
    inlines = [InvitationInline]
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "email", "usable_password", "password1", "password2"),
            },
        ),
    )
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Profile", {"fields": ("display_name", "email", "bio", "avatar")}),
        (
            "Invitations",
            {
                "fields": (
                    "nominated_by",
                    "invited_by_chain",
                    "extra_invitations",
                    "invitations_left",
                )
            },
        ),
        (
            "Permissions",
            {
                "fields": (
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                ),
            },
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )

    @admin.display(description="Invited by (chain up to the root)")
    def invited_by_chain(self, obj: User) -> str:
        if obj.pk is None:
            return "-"
        chain = selectors.nomination_chain(user=obj)
        if not chain:
            return "Nobody: a founding member (invited by no one)."
        return format_html_join(
            " → ",
            '<a href="{}">{}</a>',
            (
                (reverse("admin:accounts_user_change", args=[member.pk]), member.username)
                for member in chain
            ),
        )

    @admin.display(description="Invitations left")
    def invitations_left(self, obj: User) -> str:
        if obj.pk is None:
            return "-"
        quota = selectors.invitation_quota(user=obj)
        if quota.unlimited:
            return f"Unlimited (staff); {quota.used} in use"
        return f"{quota.remaining} of {quota.total}"


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = (
        "short_code",
        "created_by",
        "email",
        "status",
        "created_at",
        "expires_at",
        "used_by",
    )
    list_select_related = ("created_by", "used_by")
    search_fields = ("code", "email", "created_by__username", "used_by__username")
    list_filter = (
        ("revoked_at", admin.EmptyFieldListFilter),
        ("used_at", admin.EmptyFieldListFilter),
    )
    readonly_fields = (
        "code",
        "created_by",
        "email",
        "status",
        "created_at",
        "expires_at",
        "used_by",
        "used_at",
        "revoked_at",
        "signup_link",
    )
    fields = readonly_fields
    actions = ["revoke_selected"]
    ordering = ("-created_at",)

    def has_add_permission(self, request) -> bool:
        # Invitations come from a member's quota (invitations page, API, `manage.py invite`).
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting would erase who invited whom; revoke instead.
        return False

    @admin.display(description="code", ordering="code")
    def short_code(self, obj: Invitation) -> str:
        return f"{obj.code[:8]}…"

    @admin.display(description="status")
    def status(self, obj: Invitation) -> str:
        return obj.status_label

    @admin.display(description="signup link")
    def signup_link(self, obj: Invitation) -> str:
        return format_html("<code>{}?invite={}</code>", reverse("account_signup"), obj.code)

    @admin.action(description="Revoke selected unused invitations")
    def revoke_selected(self, request, queryset) -> None:
        revoked = skipped = 0
        for invitation in queryset.select_related("created_by"):
            try:
                services.invitation_revoke(invitation=invitation, by=request.user)
            except ApplicationError:
                skipped += 1
            else:
                revoked += 1
        self.message_user(request, f"Revoked {revoked} invitation(s).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} already used invitation(s) left as they are.", messages.WARNING
            )
