from rest_framework.pagination import CursorPagination as DRFCursorPagination


class CursorPagination(DRFCursorPagination):
    """Newest first, opaque cursors: no page numbers to walk and stable under inserts."""

    ordering = "-created_at"
    page_size_query_param = "page_size"
    max_page_size = 100
