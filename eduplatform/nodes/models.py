"""The city-node registry and the replication heartbeat (两级部署, docs/nodes.md).

``CityNode`` is local bookkeeping on each side: the province holds one ``publisher`` row per city it
publishes; a city node holds one ``subscriber`` row for the subscription it runs. It is never
replicated. ``NodeHeartbeat`` is written at the province and replicated to the city's node, where a
trigger stamps ``received_at`` on arrival: ``received_at - beaten_at`` is the replication lag in seconds.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class NodeRole(models.TextChoices):
    PUBLISHER = "publisher", _("省级发布端")
    SUBSCRIBER = "subscriber", _("市级节点")


class CityNode(models.Model):
    city_code = models.CharField(_("市级区划代码"), max_length=12)
    city_name = models.CharField(_("市名称"), max_length=100)
    region_path = models.CharField(_("区划路径"), max_length=64)
    role = models.CharField(_("角色"), max_length=10, choices=NodeRole.choices)
    publication = models.CharField(_("发布名"), max_length=63)
    subscription = models.CharField(_("订阅名"), max_length=63, blank=True)
    province_dsn = models.CharField(_("省级库连接（不含口令）"), max_length=300, blank=True)
    tables = models.PositiveIntegerField(_("复制表数"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("市级节点")
        constraints = [models.UniqueConstraint(fields=["city_code", "role"], name="city_node_once_per_role")]
        ordering = ["city_code"]

    def __str__(self) -> str:
        return f"{self.city_name}（{self.get_role_display()}）"


class NodeHeartbeat(models.Model):
    """One row per published city, rewritten by ``node_heartbeat`` at the province."""

    city_code = models.CharField(_("市级区划代码"), max_length=12, primary_key=True)
    beaten_at = models.DateTimeField(_("省端写入时间"))
    # Set on the node by an ALWAYS trigger as the row is applied; NULL at the province.
    received_at = models.DateTimeField(_("节点收到时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("复制心跳")
