"""Alipay and WeChat Pay, and the local sandbox gateway that stands in for both.

Our side (the merchant):
- :mod:`.keys`: key pairs (made on first use under ``var/keys/``) and gateway settings;
- :mod:`.alipay`, :mod:`.wechat`: thin adapters over python-alipay-sdk and wechatpayv3
  (create, verify a notification, query, refund, the reply each gateway expects);
- :mod:`.transport`: HTTP, handed to Django in-process for URLs on this site;
- :mod:`.views`: the notify URLs and the buyer's start and return pages.
The decisions (apply once, reconcile, refund, cash) live in
:mod:`propoor.market.services.payments`.

The other side: :mod:`.sandbox` and :mod:`.sandbox_views`, a local gateway that speaks
both gateways' real formats and signs with its own keys.
"""
