"""netpersona.synth"""
