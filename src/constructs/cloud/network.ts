import { Construct } from 'constructs';
import {
  CloudwatchLogGroup, DataAwsAvailabilityZones, DefaultSecurityGroup, Eip, FlowLog, Fn, IamRole, IamRolePolicy, InternetGateway,
  NatGateway, RouteTable, RouteTableAssociation, Subnet, Vpc, VpcEndpoint,
} from './cdktf';
import { Cidr, cidrSubnet, cidrsOverlap, formatCidr, parseCidr } from './cidr';
import { PropValidator } from '../errors';

/** Options to create a VPC. */
export interface CreateNetworkOptions {
  /**
   * The VPC's IPv4 block, /16 to /20. Private subnets take the first half (one per zone),
   * public subnets small blocks at the end.
   * @default '10.0.0.0/16'
   */
  readonly cidr?: string;
  /**
   * How many availability zones to span (at least 2).
   * @default 3
   */
  readonly availabilityZones?: number;
  /**
   * NAT gateways: `1` (one shared, cheapest, one zone's outage cuts egress) or one per zone
   * (`availabilityZones`).
   * @default - one per zone
   */
  readonly natGateways?: number;
  /**
   * Days to keep VPC flow logs (all traffic, to CloudWatch Logs encrypted with the platform
   * key). 0 turns flow logs off.
   * @default 90
   */
  readonly flowLogRetentionDays?: number;
}

/** Options to use a VPC that already exists. */
export interface ExistingNetworkOptions {
  /** The VPC id (`vpc-...`). */
  readonly vpcId: string;
  /** Private subnets for the cluster and the workloads, in at least 2 zones. */
  readonly privateSubnetIds: string[];
}

/**
 * Where the platform's network comes from: a new VPC (secure defaults) or an existing one.
 */
export class Network {
  /** Create a VPC with private subnets across zones and NAT for egress. */
  public static create(options: CreateNetworkOptions = {}): Network {
    return new Network(options, undefined);
  }

  /** Use an existing VPC and its private subnets. */
  public static fromExisting(options: ExistingNetworkOptions): Network {
    return new Network(undefined, options);
  }

  private constructor(
    /** @internal */ public readonly _create: CreateNetworkOptions | undefined,
    /** @internal */ public readonly _existing: ExistingNetworkOptions | undefined,
  ) {}
}

/** The Kubernetes service CIDR EKS uses by default; a VPC must not overlap it. */
export const EKS_SERVICE_CIDR = '172.20.0.0/16';

/** @internal Validates network props into the validator. */
export function validateNetwork(v: PropValidator, network: Network): void {
  if (network._create) {
    const o = network._create;
    const cidrText = o.cidr ?? '10.0.0.0/16';
    const parsed = parseCidr(cidrText);
    if (typeof parsed === 'string') {
      v.fail('network.cidr', cidrText, parsed);
    } else {
      v.check(parsed.prefix >= 16 && parsed.prefix <= 20, 'network.cidr', cidrText, 'must have a prefix length from /16 to /20 (room for private and public subnets in each zone)');
      const service = parseCidr(EKS_SERVICE_CIDR) as Cidr;
      v.check(!cidrsOverlap(parsed, service), 'network.cidr', cidrText, `must not overlap the Kubernetes service CIDR ${EKS_SERVICE_CIDR}`);
    }
    const azs = o.availabilityZones ?? 3;
    v.check(Number.isInteger(azs) && azs >= 2 && azs <= 4, 'network.availabilityZones', azs, 'must be an integer from 2 to 4 (EKS needs subnets in at least 2 zones)');
    if (o.flowLogRetentionDays !== undefined) {
      v.check(o.flowLogRetentionDays === 0 || [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653].includes(o.flowLogRetentionDays),
        'network.flowLogRetentionDays', o.flowLogRetentionDays, "must be 0 (off) or one of CloudWatch's retention values (1, 3, 5, 7, 14, 30, 60, 90, ...)");
    }
    if (o.natGateways !== undefined) {
      v.check(o.natGateways === 1 || o.natGateways === azs, 'network.natGateways', o.natGateways, `must be 1 (shared) or ${azs} (one per zone)`);
    }
  } else if (network._existing) {
    const o = network._existing;
    v.check(/^vpc-[0-9a-f]{8,17}$/.test(o.vpcId), 'network.vpcId', o.vpcId, "must be a VPC id like 'vpc-0123456789abcdef0'");
    v.check(o.privateSubnetIds.length >= 2, 'network.privateSubnetIds', o.privateSubnetIds, 'must list at least 2 subnets (in 2 availability zones)');
    o.privateSubnetIds.forEach((s, i) => v.check(/^subnet-[0-9a-f]{8,17}$/.test(s), `network.privateSubnetIds[${i}]`, s, "must be a subnet id like 'subnet-0123456789abcdef0'"));
    v.check(new Set(o.privateSubnetIds).size === o.privateSubnetIds.length, 'network.privateSubnetIds', o.privateSubnetIds, 'must not repeat a subnet');
  }
}

export interface PlatformNetworkProps {
  readonly network: Network;
  /** Name prefix for Name tags. */
  readonly namePrefix: string;
  /** KMS key for the flow-log group. */
  readonly kmsKeyArn: string;
  readonly region: string;
  /** The EKS cluster name, for the subnet discovery tags. */
  readonly clusterName: string;
}

/**
 * The platform's network in the cloud plane: either a new VPC (private subnets across zones,
 * public subnets only for NAT and load balancers, NAT gateways, the default security group
 * locked down) or references to an existing one.
 */
export class PlatformNetwork extends Construct {
  /** VPC id (a token when created here). */
  public readonly vpcId: string;
  /** Private subnet ids. */
  public readonly privateSubnetIds: string[];
  /** The VPC's CIDR when created here (for security-group rules). */
  public readonly cidr?: string;
  /** Number of availability zones used (when created here). */
  public readonly availabilityZoneCount?: number;
  /** Route tables of the private subnets (when created here; empty for an existing network). */
  public readonly privateRouteTableIds: string[] = [];
  private readonly props: PlatformNetworkProps;

  constructor(scope: Construct, id: string, props: PlatformNetworkProps) {
    super(scope, id);
    this.props = props;
    if (props.network._existing) {
      this.vpcId = props.network._existing.vpcId;
      this.privateSubnetIds = [...props.network._existing.privateSubnetIds];
      return;
    }
    const o = props.network._create ?? {};
    const cidrText = o.cidr ?? '10.0.0.0/16';
    const cidr = parseCidr(cidrText) as Cidr;
    const azCount = o.availabilityZones ?? 3;
    const natCount = o.natGateways ?? azCount;
    this.cidr = cidrText;
    this.availabilityZoneCount = azCount;

    const zones = new DataAwsAvailabilityZones(this, 'zones', {
      state: 'available',
      filter: [{ name: 'opt-in-status', values: ['opt-in-not-required'] }],
    });
    const vpc = new Vpc(this, 'vpc', {
      cidrBlock: cidrText,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: { Name: `${props.namePrefix}-vpc` },
    });
    this.vpcId = vpc.id;
    // The default security group allows all traffic between its members: empty it.
    new DefaultSecurityGroup(this, 'default-sg', { vpcId: vpc.id, ingress: [], egress: [], tags: { Name: `${props.namePrefix}-default-deny` } });
    const igw = new InternetGateway(this, 'igw', { vpcId: vpc.id, tags: { Name: `${props.namePrefix}-igw` } });

    // Private subnets: the first half of the VPC, split in 4 (/18 of a /16). Public: /24-sized
    // blocks (/16 + 8 bits) from the last quarter's end.
    const privateBits = 2;
    const publicBits = 8;
    const publicSubnets: Subnet[] = [];
    const privateSubnets: Subnet[] = [];
    for (let i = 0; i < azCount; i++) {
      const az = Fn.element(zones.names, i);
      const pub = new Subnet(this, `public-${i}`, {
        vpcId: vpc.id,
        availabilityZone: az,
        cidrBlock: formatCidr(cidrSubnet(cidr, publicBits, 2 ** publicBits - 1 - i)),
        mapPublicIpOnLaunch: false,
        tags: { 'Name': `${props.namePrefix}-public-${i}`, 'kubernetes.io/role/elb': '1' },
      });
      publicSubnets.push(pub);
      const priv = new Subnet(this, `private-${i}`, {
        vpcId: vpc.id,
        availabilityZone: az,
        cidrBlock: formatCidr(cidrSubnet(cidr, privateBits, i)),
        mapPublicIpOnLaunch: false,
        tags: {
          'Name': `${props.namePrefix}-private-${i}`,
          'kubernetes.io/role/internal-elb': '1',
          [`kubernetes.io/cluster/${props.clusterName}`]: 'shared',
          'karpenter.sh/discovery': props.clusterName,
        },
      });
      privateSubnets.push(priv);
    }
    this.privateSubnetIds = privateSubnets.map((s) => s.id);

    const publicRt = new RouteTable(this, 'public-rt', {
      vpcId: vpc.id,
      route: [{ cidrBlock: '0.0.0.0/0', gatewayId: igw.id }],
      tags: { Name: `${props.namePrefix}-public` },
    });
    publicSubnets.forEach((s, i) => new RouteTableAssociation(this, `public-rta-${i}`, { subnetId: s.id, routeTableId: publicRt.id }));

    const nats: NatGateway[] = [];
    for (let i = 0; i < natCount; i++) {
      const eip = new Eip(this, `nat-eip-${i}`, { domain: 'vpc', tags: { Name: `${props.namePrefix}-nat-${i}` } });
      nats.push(new NatGateway(this, `nat-${i}`, {
        allocationId: eip.id,
        subnetId: publicSubnets[i].id,
        tags: { Name: `${props.namePrefix}-nat-${i}` },
        dependsOn: [igw],
      }));
    }
    const privateRouteTables = privateSubnets.map((s, i) => {
      const rt = new RouteTable(this, `private-rt-${i}`, {
        vpcId: vpc.id,
        route: [{ cidrBlock: '0.0.0.0/0', natGatewayId: nats[i % nats.length].id }],
        tags: { Name: `${props.namePrefix}-private-${i}` },
      });
      new RouteTableAssociation(this, `private-rta-${i}`, { subnetId: s.id, routeTableId: rt.id });
      return rt;
    });
    this.privateRouteTableIds.push(...privateRouteTables.map((rt) => rt.id));
    // S3 through a gateway endpoint: model, data and log bytes stay off the NAT (no charge, no
    // internet path).
    new VpcEndpoint(this, 's3-endpoint', {
      vpcId: vpc.id,
      serviceName: `com.amazonaws.${props.region}.s3`,
      vpcEndpointType: 'Gateway',
      routeTableIds: privateRouteTables.map((rt) => rt.id),
      tags: { Name: `${props.namePrefix}-s3` },
    });

    const flowDays = o.flowLogRetentionDays ?? 90;
    if (flowDays > 0) {
      const group = new CloudwatchLogGroup(this, 'flow-logs', {
        name: `/cdk-mlops/${props.namePrefix}/vpc-flow-logs`,
        retentionInDays: flowDays,
        kmsKeyId: props.kmsKeyArn,
      });
      const role = new IamRole(this, 'flow-logs-role', {
        name: `${props.namePrefix}-vpc-flow-logs`,
        assumeRolePolicy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'vpc-flow-logs.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        }),
      });
      new IamRolePolicy(this, 'flow-logs-policy', {
        name: 'write-flow-logs',
        role: role.name,
        policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'], Resource: `${group.arn}:*` }],
        }),
      });
      new FlowLog(this, 'flow-log', {
        vpcId: vpc.id,
        trafficType: 'ALL',
        logDestinationType: 'cloud-watch-logs',
        logDestination: group.arn,
        iamRoleArn: role.arn,
        maxAggregationInterval: 60,
      });
    }
  }

  /**
   * The gateway endpoint of an AWS service on the private route tables, created on first use
   * (a capability that needs it calls this; S3's exists from the start): its traffic stays off
   * the NAT and the internet. Undefined for an existing network, whose routes this program
   * does not own (give it the endpoint yourself, or its traffic goes through its own egress).
   */
  public gatewayEndpoint(service: 'dynamodb'): VpcEndpoint | undefined {
    if (this.privateRouteTableIds.length === 0) return undefined;
    const id = `${service}-endpoint`;
    const existing = this.node.tryFindChild(id);
    if (existing) return existing as VpcEndpoint;
    return new VpcEndpoint(this, id, {
      vpcId: this.vpcId,
      serviceName: `com.amazonaws.${this.props.region}.${service}`,
      vpcEndpointType: 'Gateway',
      routeTableIds: [...this.privateRouteTableIds],
      tags: { Name: `${this.props.namePrefix}-${service}` },
    });
  }
}
