from django import template

from yanglao.core import pii

register = template.Library()


@register.filter
def get_item(mapping, key):
    """{{ figures|get_item:key }}: a dict value by a key held in a variable."""
    return mapping.get(key) if hasattr(mapping, "get") else None


register.filter("mask_id_number", pii.mask_id_number)
register.filter("mask_phone", pii.mask_phone)
register.filter("mask_name", pii.mask_name)
