"""Small template helpers for the web pages (owned by the web client): icons, avatars, the bell.

They live in the rooms app only because templates need an installed app to load them from; they
hold no rules.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

# Inline SVG (no icon font, no network): each path is drawn on a 24×24 grid, stroked.
_ICONS = {
    "home": "M3 11.5 12 4l9 7.5M5.5 10v10h13V10",
    "plus": "M12 5v14M5 12h14",
    "ticket": "M4 7h16v3a2 2 0 0 0 0 4v3H4v-3a2 2 0 0 0 0-4zM14 7v10",
    "bell": "M6 16V11a6 6 0 0 1 12 0v5l1.5 2h-15zM10 20a2 2 0 0 0 4 0",
    "logout": "M15 4h4v16h-4M10 8l-4 4 4 4M6 12h10",
    "mic": "M12 3a3 3 0 0 1 3 3v6a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3zM6 11a6 6 0 0 0 12 0M12 17v4",
    "mic-off": "M4 4l16 16M9 9v3a3 3 0 0 0 5 2.2M15 10V6a3 3 0 0 0-6 0M6 11a6 6 0 0 0 9.5 4.9M18 11"
    "a6 6 0 0 1-.4 2.1M12 17v4",
    "hand": "M8 13V6a1.5 1.5 0 0 1 3 0v5M11 11V4.5a1.5 1.5 0 0 1 3 0V11M14 11V6a1.5 1.5 0 0 1 3 "
    "0v7a7 7 0 0 1-7 7c-2.5 0-4-1.2-5.3-3L3 14a1.5 1.5 0 0 1 2.5-1.6L8 15",
    "leave": "M10 4H5v16h5M14 8l4 4-4 4M18 12H9",
    "calendar": "M4 6h16v14H4zM4 10h16M8 3v4M16 3v4",
}


@register.simple_tag
def icon(name: str, label: str = "") -> SafeString:
    path = _ICONS[name]
    if label:
        return format_html(
            '<svg class="icon" viewBox="0 0 24 24" fill="none" stroke="currentColor" '
            'stroke-width="2" stroke-linecap="round" stroke-linejoin="round" role="img" '
            'aria-label="{}"><path d="{}"/></svg>',
            label,
            path,
        )
    return format_html(
        '<svg class="icon" viewBox="0 0 24 24" fill="none" stroke="currentColor" '
        'stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" '
        'focusable="false"><path d="{}"/></svg>',
        path,
    )


def initials(user: Any) -> str:
    name = (getattr(user, "display_name", "") or getattr(user, "username", "") or "?").strip()
    parts = [p for p in name.replace("_", " ").replace(".", " ").split() if p]
    if len(parts) >= 2:
        return (parts[0][0] + parts[1][0]).upper()
    return name[:2].upper()


@register.simple_tag
def avatar(user: Any, size: str = "", alt: bool = False) -> SafeString:
    """A round face: the uploaded avatar, or initials. Decorative unless ``alt`` is set, because
    the name is almost always printed beside it."""
    classes = f"avatar {size}".strip()
    picture = getattr(user, "avatar", None)
    alt_text = getattr(user, "name", None) or getattr(user, "username", "") if alt else ""
    if picture:
        return format_html(
            '<span class="{}"><img src="{}" alt="{}" loading="lazy"></span>',
            classes,
            picture.url,
            alt_text,
        )
    if alt:
        return format_html(
            '<span class="{}" role="img" aria-label="{}">{}</span>',
            classes,
            alt_text,
            initials(user),
        )
    return format_html('<span class="{}" aria-hidden="true">{}</span>', classes, initials(user))


@register.simple_tag(takes_context=True)
def unread_notifications(context: template.Context) -> int:
    """The bell's count for the signed-in member (0 until the notifications app can say)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    try:
        from notifications.selectors import unread_count
    except ImportError:
        return 0
    return unread_count(user_id=user.pk)


@register.filter
def minus_len(total: int, shown: Any) -> int:
    """How many of ``total`` are not in ``shown`` ("and 3 more")."""
    return max(0, int(total) - len(shown))


@register.simple_tag(takes_context=True)
def blocked_by_you(context: template.Context, member: Any) -> bool:
    """Whether the signed-in member blocks ``member`` (profile buttons)."""
    from moderation.models import Block

    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    return Block.objects.filter(blocker_id=user.pk, blocked_id=member.pk).exists()
