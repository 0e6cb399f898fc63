"""FIX tag numbers and MsgType values by name.

``Final`` ints: mypy knows their values, so compiled modules (mypyc) use them as C
constants and a name costs nothing over the raw number. Named here as the session
layer and the order-entry application come to use them; not every tag of the
dictionaries.
"""

from __future__ import annotations

from typing import Final

# -- standard header and trailer -------------------------------------------------------
BEGIN_STRING: Final = 8
BODY_LENGTH: Final = 9
CHECK_SUM: Final = 10
MSG_SEQ_NUM: Final = 34
MSG_TYPE: Final = 35
POSS_DUP_FLAG: Final = 43
SENDER_COMP_ID: Final = 49
SENDING_TIME: Final = 52
TARGET_COMP_ID: Final = 56
ON_BEHALF_OF_COMP_ID: Final = 115
ON_BEHALF_OF_SUB_ID: Final = 116
ORIG_SENDING_TIME: Final = 122
DELIVER_TO_COMP_ID: Final = 128
DELIVER_TO_SUB_ID: Final = 129
ON_BEHALF_OF_LOCATION_ID: Final = 144
DELIVER_TO_LOCATION_ID: Final = 145

# -- session-level bodies ----------------------------------------------------------------
NEW_SEQ_NO: Final = 36
REF_SEQ_NUM: Final = 45
TEXT: Final = 58
TEST_REQ_ID: Final = 112
GAP_FILL_FLAG: Final = 123
REF_TAG_ID: Final = 371
REF_MSG_TYPE: Final = 372
SESSION_REJECT_REASON: Final = 373
BUSINESS_REJECT_REF_ID: Final = 379
BUSINESS_REJECT_REASON: Final = 380

# -- application bodies (order entry, execution reports) ---------------------------------
ACCOUNT: Final = 1
AVG_PX: Final = 6
CL_ORD_ID: Final = 11
CUM_QTY: Final = 14
EXEC_ID: Final = 17
EXEC_TRANS_TYPE: Final = 20
ORDER_ID: Final = 37
ORDER_QTY: Final = 38
ORD_STATUS: Final = 39
ORD_TYPE: Final = 40
ORIG_CL_ORD_ID: Final = 41
PRICE: Final = 44
SIDE: Final = 54
SYMBOL: Final = 55
TRANSACT_TIME: Final = 60
CXL_REJ_REASON: Final = 102
ORD_REJ_REASON: Final = 103
EXEC_TYPE: Final = 150
LEAVES_QTY: Final = 151
CXL_REJ_RESPONSE_TO: Final = 434
PARTY_ID: Final = 448
PARTY_ROLE: Final = 452
MASS_CANCEL_REQUEST_TYPE: Final = 530
MASS_CANCEL_RESPONSE: Final = 531
MASS_CANCEL_REJECT_REASON: Final = 532
MASS_CANCEL_TOTAL_AFFECTED_ORDERS: Final = 533
MASS_STATUS_REQ_ID: Final = 584
MASS_STATUS_REQ_TYPE: Final = 585
ORD_STATUS_REQ_ID: Final = 790
TOT_NUM_REPORTS: Final = 911
LAST_RPT_REQUESTED: Final = 912
MASS_ACTION_REPORT_ID: Final = 1369

# -- MsgType (35) values -----------------------------------------------------------------
MT_HEARTBEAT: Final = "0"
MT_TEST_REQUEST: Final = "1"
MT_RESEND_REQUEST: Final = "2"
MT_REJECT: Final = "3"
MT_SEQUENCE_RESET: Final = "4"
MT_LOGOUT: Final = "5"
MT_LOGON: Final = "A"
MT_BUSINESS_MESSAGE_REJECT: Final = "j"
MT_EXECUTION_REPORT: Final = "8"
MT_ORDER_CANCEL_REJECT: Final = "9"
MT_NEW_ORDER_SINGLE: Final = "D"
MT_ORDER_CANCEL_REQUEST: Final = "F"
MT_ORDER_CANCEL_REPLACE_REQUEST: Final = "G"
MT_ORDER_STATUS_REQUEST: Final = "H"
MT_ORDER_MASS_CANCEL_REQUEST: Final = "q"
MT_ORDER_MASS_CANCEL_REPORT: Final = "r"
MT_ORDER_MASS_STATUS_REQUEST: Final = "AF"
MT_MARKET_DATA_REQUEST: Final = "V"
MT_SECURITY_LIST_REQUEST: Final = "x"

#: The standard header's routing fields, each with the field that carries its value
#: back: an answer to a routed message goes the reverse way (OnBehalfOf <-> DeliverTo).
REVERSE_ROUTING: Final = (
    (ON_BEHALF_OF_COMP_ID, DELIVER_TO_COMP_ID),
    (DELIVER_TO_COMP_ID, ON_BEHALF_OF_COMP_ID),
    (ON_BEHALF_OF_SUB_ID, DELIVER_TO_SUB_ID),
    (DELIVER_TO_SUB_ID, ON_BEHALF_OF_SUB_ID),
    (ON_BEHALF_OF_LOCATION_ID, DELIVER_TO_LOCATION_ID),
    (DELIVER_TO_LOCATION_ID, ON_BEHALF_OF_LOCATION_ID),
)
