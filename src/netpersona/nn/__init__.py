"""netpersona.nn"""
