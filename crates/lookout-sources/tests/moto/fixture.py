"""Creates test data in a running moto server for the cloudwatch source's tests.

Run with the peers venv's python (boto3 is in tests/peers/requirements-cloudwatch.txt):

  fixture.py fleet --endpoint URL --count 3 --minutes 30 [--type t3.micro] [--tag Env=prod]
                   [--metrics CPUUtilization,NetworkIn] [--extra CWAgent:mem_used_percent]
  fixture.py iam-user --endpoint URL --allow ec2:DescribeInstances,cloudwatch:GetMetricData

`fleet` starts instances and puts `minutes` one-minute datapoints (ending one minute ago) of
each metric for each instance; the value of metric m of instance i at minute k is
`10 * (m + 1) + i + (k % 5)` (documented so tests can check values). It prints JSON:
{"instances": [...ids...], "start": epoch_seconds_of_first_point, "minutes": k}.
`iam-user` creates a user with an inline policy allowing the listed actions and prints
{"access_key_id": ..., "secret_access_key": ...}.
"""

import argparse
import datetime
import json

import boto3


def clients(endpoint, region, *names):
    kw = dict(endpoint_url=endpoint, region_name=region,
              aws_access_key_id="AKIDFIXTURE", aws_secret_access_key="fixture-secret")
    return [boto3.client(name, **kw) for name in names]


def fleet(args):
    ec2, cw = clients(args.endpoint, args.region, "ec2", "cloudwatch")
    tags = [{"Key": "Name", "Value": args.name}]
    for pair in args.tag:
        key, value = pair.split("=", 1)
        tags.append({"Key": key, "Value": value})
    ids = []
    while len(ids) < args.count:
        batch = min(500, args.count - len(ids))
        reply = ec2.run_instances(ImageId="ami-12c6146b", MinCount=batch, MaxCount=batch,
                                  InstanceType=args.type,
                                  TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])
        ids.extend(i["InstanceId"] for i in reply["Instances"])
    now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    first = now - datetime.timedelta(minutes=args.minutes)
    series = [("AWS/EC2", name, []) for name in args.metrics.split(",") if name]
    for spec in args.extra:
        namespace, metric = spec.split(":", 1)
        series.append((namespace, metric, [{"Name": "ImageId", "Value": "ami-12c6146b"}]))
    pending = {}
    for m, (namespace, metric, dims) in enumerate(series):
        for i, instance in enumerate(ids):
            dimensions = [{"Name": "InstanceId", "Value": instance}] + dims
            for k in range(args.minutes):
                datum = {"MetricName": metric, "Dimensions": dimensions,
                         "Timestamp": first + datetime.timedelta(minutes=k),
                         "Value": float(10 * (m + 1) + i + (k % 5))}
                pending.setdefault(namespace, []).append(datum)
    for namespace, data in pending.items():
        for start in range(0, len(data), args.chunk):
            cw.put_metric_data(Namespace=namespace, MetricData=data[start:start + args.chunk])
    print(json.dumps({"instances": ids, "start": int(first.timestamp()), "minutes": args.minutes}))


def iam_user(args):
    (iam,) = clients(args.endpoint, args.region, "iam")
    iam.create_user(UserName=args.user)
    key = iam.create_access_key(UserName=args.user)["AccessKey"]
    policy = {"Version": "2012-10-17",
              "Statement": [{"Effect": "Allow", "Action": args.allow.split(","), "Resource": "*"}]}
    iam.put_user_policy(UserName=args.user, PolicyName="lookout", PolicyDocument=json.dumps(policy))
    print(json.dumps({"access_key_id": key["AccessKeyId"],
                      "secret_access_key": key["SecretAccessKey"]}))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fleet")
    f.add_argument("--count", type=int, default=2)
    f.add_argument("--minutes", type=int, default=30)
    f.add_argument("--type", default="t3.micro")
    f.add_argument("--name", default="web")
    f.add_argument("--tag", action="append", default=[])
    f.add_argument("--metrics", default="CPUUtilization,NetworkIn")
    f.add_argument("--extra", action="append", default=[])
    f.add_argument("--chunk", type=int, default=20)
    u = sub.add_parser("iam-user")
    u.add_argument("--user", default="lookout")
    u.add_argument("--allow", required=True)
    for p in (f, u):
        p.add_argument("--endpoint", required=True)
        p.add_argument("--region", default="us-east-1")
    args = parser.parse_args()
    fleet(args) if args.command == "fleet" else iam_user(args)


if __name__ == "__main__":
    main()
