require osect-provision.inc
