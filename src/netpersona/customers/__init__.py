"""netpersona.customers"""
