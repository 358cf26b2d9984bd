"""Response templates (mẫu trả lời): one partition, each item version-checked."""
from __future__ import annotations

import secrets
from datetime import datetime

from chalicelib.domain.errors import Conflict, Missing
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import ResponseTemplateModel

PARTITION = "TEMPLATES"


def all_templates() -> list[ResponseTemplateModel]:
    """Returns every template (one Query; a province keeps tens, not thousands)."""
    bind()
    with translate():
        return list(ResponseTemplateModel.query(PARTITION))


def get_template(template_id: str) -> ResponseTemplateModel | None:
    bind()
    with translate():
        try:
            return ResponseTemplateModel.get(PARTITION, template_id, consistent_read=True)
        except ResponseTemplateModel.DoesNotExist:
            return None


def create_template(category: str | None, title: str, body: str, actor: str, now: datetime) -> ResponseTemplateModel:
    bind()
    item = ResponseTemplateModel(sk=f"T{now:%Y%m%d}{secrets.token_hex(3)}", category=category, title=title,
                                 body=body, updated_by=actor, updated_at=now)
    with translate():
        item.save(condition=ResponseTemplateModel.sk.does_not_exist())
    return item


def update_template(template_id: str, expected_version: int, category: str | None, title: str, body: str,
                    actor: str, now: datetime) -> None:
    """Replaces a template's content if nobody changed it since `expected_version`; raises
    Conflict (changed meanwhile) or Missing (deleted)."""
    item = get_template(template_id)
    if item is None:
        raise Missing()
    if item.version != expected_version:
        raise Conflict()
    with translate():
        item.update(actions=[ResponseTemplateModel.category.set(category) if category
                             else ResponseTemplateModel.category.remove(),
                             ResponseTemplateModel.title.set(title), ResponseTemplateModel.body.set(body),
                             ResponseTemplateModel.updated_by.set(actor), ResponseTemplateModel.updated_at.set(now)])


def delete_template(template_id: str, expected_version: int) -> None:
    item = get_template(template_id)
    if item is None:
        return
    if item.version != expected_version:
        raise Conflict()
    with translate():
        item.delete()
