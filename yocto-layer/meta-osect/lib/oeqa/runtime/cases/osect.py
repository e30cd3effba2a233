# On-target tests of the osect sensor image (testimage). They need no
# network beyond the test host and mirror the dev image's boot test checks.
from oeqa.runtime.case import OERuntimeTestCase
from oeqa.core.decorator.depends import OETestDepends
from oeqa.runtime.decorator.package import OEHasPackage


class OsectSensorTest(OERuntimeTestCase):

    @OETestDepends(['ssh.SSHTest.test_ssh'])
    def test_rootfs_read_only(self):
        status, output = self.target.run('findmnt -n -o OPTIONS /')
        self.assertEqual(status, 0, msg=output)
        self.assertIn('ro', output.split(','), msg='root is mounted %s' % output)

    @OEHasPackage(['nftables'])
    @OETestDepends(['ssh.SSHTest.test_ssh'])
    def test_firewall_default_drop(self):
        status, output = self.target.run('nft list chain inet osect input')
        self.assertEqual(status, 0, msg=output)
        self.assertIn('policy drop', output)

    @OEHasPackage(['osect-agent'])
    @OETestDepends(['ssh.SSHTest.test_ssh'])
    def test_agent_sandbox(self):
        status, output = self.target.run('systemd-analyze security osect-agent.service | tail -n 1')
        self.assertEqual(status, 0, msg=output)
        score = float(output.split(':')[1].split()[0])
        self.assertLessEqual(score, 2.0, msg=output)
