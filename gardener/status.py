"""What the gardener does now, in a sentence: the System status page's line (config.status_facts)
and the top of its policy page. Read without making the policy row: the demo makes it first
(gardener.services.enable_for_demo), and a read must not take that from it."""

from __future__ import annotations

from django.utils.translation import gettext, gettext_lazy

from config.status_facts import Fact
from gardener import selectors
from gardener.models import GardenerPolicy, PromotionMode


def state_sentence(policy: GardenerPolicy | None) -> str:
    if policy is None or not policy.enabled:
        return gettext("off: it paints, promotes and retires nothing (an emotion's own policy may still turn it on)")
    if policy.promotion_mode == PromotionMode.TRUSTED:
        sentence = gettext("on, trusted: the pictures it paints go to the kiosks without a curator")
        if policy.set_by_demo:
            sentence += " " + gettext("(the demo's setting: it turns to review once a real model is configured)")
        return sentence
    return gettext("on, review: the pictures it paints wait in the pool for a curator")


def status_facts() -> list[Fact]:
    policy = GardenerPolicy.objects.filter(pk=selectors.GLOBAL_POLICY_PK).first()
    demo = policy is not None and policy.set_by_demo and policy.enabled
    return [Fact("gardener", gettext_lazy("Gardener"), state_sentence(policy), demo=demo)]
