"""netpersona.rejoin"""
