//! Parsing of the XML answers of EC2 `DescribeInstances`, CloudWatch `GetMetricData` and
//! `ListMetrics`, and of AWS error documents. Elements are matched by local name, so the
//! XML namespaces of AWS and of emulators do not matter; anything unexpected is an error
//! that says what was missing.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime};
use roxmltree::{Document, Node};

/// An EC2 instance as discovered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub id: String,
    pub instance_type: String,
    pub tags: BTreeMap<String, String>,
}

/// One page of `DescribeInstances`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InstancesPage {
    pub instances: Vec<Instance>,
    pub next_token: Option<String>,
}

/// The datapoints of one query of `GetMetricData`, timestamps in ms since the epoch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricDataResult {
    pub id: String,
    pub status_code: String,
    pub points: Vec<(i64, f64)>,
}

/// One page of `GetMetricData`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricDataPage {
    pub results: Vec<MetricDataResult>,
    pub next_token: Option<String>,
}

/// A metric as listed by `ListMetrics`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ListedMetric {
    pub namespace: String,
    pub name: String,
    pub dimensions: Vec<(String, String)>,
}

/// One page of `ListMetrics`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListMetricsPage {
    pub metrics: Vec<ListedMetric>,
    pub next_token: Option<String>,
}

/// The code and message of an AWS error document (EC2's `<Response><Errors>` or
/// CloudWatch's `<ErrorResponse>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

fn parse(text: &str) -> Result<Document<'_>, String> {
    Document::parse(text).map_err(|error| format!("not XML ({error})"))
}

fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn children<'a, 'input>(
    node: Node<'a, 'input>,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'input>> {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn text_of(node: Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name).map(|c| c.text().unwrap_or("").trim().to_string())
}

fn descendant<'a, 'input>(document: &'a Document<'input>, name: &str) -> Option<Node<'a, 'input>> {
    document
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

fn expect_root(document: &Document<'_>, name: &str) -> Result<(), String> {
    let root = document.root_element().tag_name().name();
    if root == name {
        Ok(())
    } else {
        Err(format!("expected <{name}>, found <{root}>"))
    }
}

fn next_token(node: Node<'_, '_>, name: &str) -> Option<String> {
    text_of(node, name).filter(|token| !token.is_empty())
}

/// Parses a `DescribeInstancesResponse`.
pub fn instances_page(text: &str) -> Result<InstancesPage, String> {
    let document = parse(text)?;
    expect_root(&document, "DescribeInstancesResponse")?;
    let root = document.root_element();
    let mut page = InstancesPage {
        next_token: next_token(root, "nextToken"),
        ..InstancesPage::default()
    };
    let Some(reservations) = child(root, "reservationSet") else {
        return Ok(page);
    };
    for reservation in children(reservations, "item") {
        let Some(instances) = child(reservation, "instancesSet") else {
            continue;
        };
        for item in children(instances, "item") {
            let id = text_of(item, "instanceId")
                .filter(|id| !id.is_empty())
                .ok_or("an instance without <instanceId>")?;
            let instance_type = text_of(item, "instanceType").unwrap_or_default();
            let tags = child(item, "tagSet")
                .map(|set| {
                    children(set, "item")
                        .filter_map(|tag| Some((text_of(tag, "key")?, text_of(tag, "value")?)))
                        .collect()
                })
                .unwrap_or_default();
            page.instances.push(Instance {
                id,
                instance_type,
                tags,
            });
        }
    }
    Ok(page)
}

/// Parses a timestamp of a CloudWatch answer (`2024-01-02T03:04:00Z`, with or without
/// fraction or offset) into ms since the epoch.
pub fn timestamp_ms(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.timestamp_millis());
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|at| at.and_utc().timestamp_millis())
        .map_err(|_| format!("{text:?} is not a timestamp"))
}

/// Parses a `GetMetricDataResponse`.
pub fn metric_data_page(text: &str) -> Result<MetricDataPage, String> {
    let document = parse(text)?;
    expect_root(&document, "GetMetricDataResponse")?;
    let result =
        child(document.root_element(), "GetMetricDataResult").ok_or("no <GetMetricDataResult>")?;
    let mut page = MetricDataPage {
        next_token: next_token(result, "NextToken"),
        ..MetricDataPage::default()
    };
    let Some(results) = child(result, "MetricDataResults") else {
        return Ok(page);
    };
    for member in children(results, "member") {
        let id = text_of(member, "Id").ok_or("a result without <Id>")?;
        let timestamps = child(member, "Timestamps")
            .map(|list| {
                children(list, "member")
                    .map(|t| timestamp_ms(t.text().unwrap_or("")))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let values = child(member, "Values")
            .map(|list| {
                children(list, "member")
                    .map(|v| {
                        let text = v.text().unwrap_or("").trim();
                        text.parse::<f64>()
                            .map_err(|_| format!("value {text:?} of {id} is not a number"))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        if timestamps.len() != values.len() {
            return Err(format!(
                "result {id} has {} timestamps but {} values",
                timestamps.len(),
                values.len()
            ));
        }
        page.results.push(MetricDataResult {
            status_code: text_of(member, "StatusCode").unwrap_or_default(),
            points: timestamps.into_iter().zip(values).collect(),
            id,
        });
    }
    Ok(page)
}

/// Parses a `ListMetricsResponse`.
pub fn list_metrics_page(text: &str) -> Result<ListMetricsPage, String> {
    let document = parse(text)?;
    expect_root(&document, "ListMetricsResponse")?;
    let result =
        child(document.root_element(), "ListMetricsResult").ok_or("no <ListMetricsResult>")?;
    let mut page = ListMetricsPage {
        next_token: next_token(result, "NextToken"),
        ..ListMetricsPage::default()
    };
    let Some(metrics) = child(result, "Metrics") else {
        return Ok(page);
    };
    for member in children(metrics, "member") {
        let dimensions = child(member, "Dimensions")
            .map(|list| {
                children(list, "member")
                    .filter_map(|d| Some((text_of(d, "Name")?, text_of(d, "Value")?)))
                    .collect()
            })
            .unwrap_or_default();
        page.metrics.push(ListedMetric {
            namespace: text_of(member, "Namespace").unwrap_or_default(),
            name: text_of(member, "MetricName").ok_or("a metric without <MetricName>")?,
            dimensions,
        });
    }
    Ok(page)
}

/// The first `<Code>`/`<Message>` of an AWS error document, if `text` is one.
pub fn error_body(text: &str) -> Option<ErrorBody> {
    let document = Document::parse(text).ok()?;
    let code = descendant(&document, "Code")?.text()?.trim().to_string();
    let message = descendant(&document, "Message")
        .and_then(|m| m.text())
        .unwrap_or("")
        .trim()
        .to_string();
    Some(ErrorBody { code, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    const INSTANCES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r</requestId>
  <reservationSet><item><reservationId>r-1</reservationId>
    <groupSet><item><groupId>sg-1</groupId></item></groupSet>
    <instancesSet>
      <item><instanceId>i-0abc</instanceId><instanceType>t3.micro</instanceType>
        <blockDeviceMapping><item><deviceName>/dev/sda1</deviceName></item></blockDeviceMapping>
        <tagSet><item><key>Name</key><value>web-1</value></item><item><key>Env</key><value>prod</value></item></tagSet>
      </item>
      <item><instanceId>i-0def</instanceId><instanceType>m5.large</instanceType></item>
    </instancesSet></item></reservationSet>
  <nextToken>page2</nextToken>
</DescribeInstancesResponse>"#;

    #[test]
    fn instances_with_tags_and_the_next_token() {
        let page = instances_page(INSTANCES).unwrap();
        assert_eq!(page.next_token.as_deref(), Some("page2"));
        assert_eq!(page.instances.len(), 2);
        assert_eq!(page.instances[0].id, "i-0abc");
        assert_eq!(page.instances[0].instance_type, "t3.micro");
        assert_eq!(page.instances[0].tags["Name"], "web-1");
        assert!(page.instances[1].tags.is_empty());
    }

    #[test]
    fn metric_data_points_pair_timestamps_and_values() {
        let text = r#"<GetMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">
          <GetMetricDataResult><MetricDataResults>
            <member><Id>q0</Id><Label>CPUUtilization</Label><StatusCode>Complete</StatusCode>
              <Timestamps><member>2024-01-02T03:04:00Z</member><member>2024-01-02T03:05:00.000+00:00</member></Timestamps>
              <Values><member>12.5</member><member>1.0E2</member></Values></member>
            <member><Id>q1</Id><StatusCode>Complete</StatusCode><Timestamps/><Values/></member>
          </MetricDataResults><NextToken></NextToken></GetMetricDataResult>
        </GetMetricDataResponse>"#;
        let page = metric_data_page(text).unwrap();
        assert_eq!(page.next_token, None);
        assert_eq!(
            page.results[0].points,
            [(1_704_164_640_000, 12.5), (1_704_164_700_000, 100.0)]
        );
        assert!(page.results[1].points.is_empty());
    }

    #[test]
    fn mismatched_or_garbage_metric_data_is_an_error() {
        let uneven =
            "<GetMetricDataResponse><GetMetricDataResult><MetricDataResults><member><Id>q0</Id>\
            <Timestamps><member>2024-01-02T03:04:00Z</member></Timestamps><Values/></member>\
            </MetricDataResults></GetMetricDataResult></GetMetricDataResponse>";
        assert!(metric_data_page(uneven)
            .unwrap_err()
            .contains("1 timestamps but 0 values"));
        assert!(metric_data_page("<html><body>hello</body></html>")
            .unwrap_err()
            .contains("expected <GetMetricDataResponse>"));
        assert!(metric_data_page("{\"json\": true}")
            .unwrap_err()
            .starts_with("not XML"));
    }

    #[test]
    fn listed_metrics_keep_their_dimensions() {
        let text = "<ListMetricsResponse><ListMetricsResult><Metrics><member><Namespace>CWAgent</Namespace>\
            <MetricName>disk_used_percent</MetricName><Dimensions><member><Name>InstanceId</Name><Value>i-1</Value></member>\
            <member><Name>path</Name><Value>/</Value></member></Dimensions></member></Metrics>\
            <NextToken>t2</NextToken></ListMetricsResult></ListMetricsResponse>";
        let page = list_metrics_page(text).unwrap();
        assert_eq!(page.next_token.as_deref(), Some("t2"));
        assert_eq!(
            page.metrics[0].dimensions[1],
            ("path".to_string(), "/".to_string())
        );
    }

    #[test]
    fn error_documents_of_both_services() {
        let ec2 = "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized</Message></Error></Errors><RequestID>x</RequestID></Response>";
        assert_eq!(error_body(ec2).unwrap().code, "UnauthorizedOperation");
        let cloudwatch = "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>";
        let body = error_body(cloudwatch).unwrap();
        assert_eq!(
            (body.code.as_str(), body.message.as_str()),
            ("Throttling", "Rate exceeded")
        );
        assert_eq!(error_body("<html/>"), None);
    }
}
