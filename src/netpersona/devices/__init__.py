"""netpersona.devices"""
