"""Local HTTP stand-ins for the third-party APIs authstream calls (see base.py for why).

Each speaks the documented contract, errors included; tests point the code under test at
``standin.base_url`` instead of the real SaaS.
"""

from tests.standins.auth0_mgmt import Auth0StandIn
from tests.standins.base import RecordedRequest, Reply, StandIn
from tests.standins.fullcontact import FullContactStandIn
from tests.standins.kibana import KibanaStandIn
from tests.standins.webhook import WebhookReceiver
from tests.standins.x_api import XStandIn

__all__ = [
    "Auth0StandIn",
    "FullContactStandIn",
    "KibanaStandIn",
    "RecordedRequest",
    "Reply",
    "StandIn",
    "WebhookReceiver",
    "XStandIn",
]
